// Written by the scripted "overconfident" employee: quick, untested, and it also rewrites
// the command-line entry point that belongs to another task.
export function countWords(text) {
  const counts = {};
  for (const w of text.split(' ')) counts[w] = (counts[w] || 0) + 1;
  return counts;
}
