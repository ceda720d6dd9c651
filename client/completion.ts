/**
 * Shell completion for `aura`: the scripts `aura completion bash|zsh` print, and what they ask
 * `aura __complete -- <words…>` for at each Tab. The candidates come from the program itself
 * (its commands, options and argument choices), so that they never drift from it, and run ids
 * from the governance record, newest first, when its database answers.
 */
import type { Command, Option } from 'commander';

/** What the last word (the one being completed) could be, given the words before it. */
export async function completeWords(program: Command, words: string[], runIds: () => Promise<string[]>): Promise<string[]> {
  const before = words.slice(0, -1);
  const current = words.at(-1) ?? '';
  let cmd = program;
  let positional = 0;
  let pendingOption: Option | null = null;
  for (const word of before) {
    if (pendingOption) {
      pendingOption = null;
      continue;
    }
    if (word.startsWith('-') && word !== '-') {
      const option = findOption(cmd, word.split('=')[0]!);
      if (option && (option.required || option.optional) && !word.includes('=')) pendingOption = option;
      continue;
    }
    const sub = positional === 0 ? cmd.commands.find((c) => c.name() === word || c.aliases().includes(word)) : undefined;
    if (sub) cmd = sub;
    else positional++;
  }
  const matching = (list: string[]) => list.filter((c) => c.startsWith(current));
  if (pendingOption) {
    if (pendingOption.argChoices) return matching(pendingOption.argChoices);
    return /run/i.test(pendingOption.long ?? '') ? matching(await runIds()) : [];
  }
  const help = cmd.createHelp();
  if (current.startsWith('-')) return matching(help.visibleOptions(cmd).flatMap((o) => (o.long ? [o.long] : [])));
  const subs = cmd.commands.length > 0 ? help.visibleCommands(cmd).map((c) => c.name()) : [];
  if (subs.length > 0 && positional === 0) return matching(subs);
  const argument =
    cmd.registeredArguments[positional] ?? (cmd.registeredArguments.at(-1)?.variadic ? cmd.registeredArguments.at(-1) : undefined);
  if (!argument) return [];
  if (argument.argChoices) return matching(argument.argChoices);
  if (/^run/i.test(argument.name())) return matching(await runIds());
  return []; // a file, an employee, a task: the shell's own completion (files) takes over
}

function findOption(cmd: Command, flag: string): Option | undefined {
  return cmd.options.find((o) => o.long === flag || o.short === flag);
}

/** The script for bash: `source <(aura completion bash)`, or saved where bash-completion looks. */
export function bashScript(): string {
  return `# aura completion for bash. Load it now:   source <(aura completion bash)
# or for every shell:  aura completion bash > ~/.local/share/bash-completion/completions/aura
_aura_complete() {
  local IFS=$'\\n'
  COMPREPLY=($(aura __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _aura_complete aura
`;
}

/** The script for zsh: `source <(aura completion zsh)` after compinit, or saved as _aura in a folder of $fpath. */
export function zshScript(): string {
  return `#compdef aura
# aura completion for zsh. Load it now (after compinit):   source <(aura completion zsh)
# or for every shell:  aura completion zsh > "\${fpath[1]}/_aura"
_aura() {
  local -a candidates
  candidates=("\${(@f)$(aura __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=(\${candidates:#})
  if (( \${#candidates} )); then
    compadd -Q -- "\${candidates[@]}"
  else
    _files
  fi
}
if [[ "\${funcstack[1]}" == _aura ]]; then
  _aura "$@"
else
  compdef _aura aura
fi
`;
}
