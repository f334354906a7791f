/**
 * core/protection: the PAR2 protection planner, pure (src/parity does the IO). types: the policy,
 * units, plans; planner: the static plan of a finished set (planProtection, the defaults and why);
 * streaming: the units a backup makes while 7-Zip still writes; guarantees: what a plan survives
 * and what a repair achieves; format: a plan for people; volume-size: the volume size of a set
 * chosen from its expected size.
 */
export * from './types.js';
export * from './planner.js';
export * from './streaming.js';
export * from './guarantees.js';
export * from './format.js';
export * from './volume-size.js';
