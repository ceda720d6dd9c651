export const config = { maxDepth: 10, strict: false };
