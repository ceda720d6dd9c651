/** The Temporal header a Director command's proof of identity travels in (integrity/command-proof.ts). */
export const COMMAND_PROOF_HEADER = 'aura-director-proof';
