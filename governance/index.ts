export * from './schemas.js';
export * from './types.js';
export * from './plan-rules.js';
export * from './routing.js';
export * from './hr-policy.js';
export * from './scoring.js';
export * from './dag.js';
export * from './glob.js';
