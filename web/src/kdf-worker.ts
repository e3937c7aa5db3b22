// The passphrase's key derivation (Argon2id), off the page's thread: the page
// would otherwise freeze for its whole duration. The worker runs the core's own
// derivation (`deriveStorageKey` of the same wasm module, handed over already
// compiled), answers once, and is ended by the page: no passphrase or key
// outlives one derivation here.

import { deriveStorageKey, initSync } from "./wasm-pkg/sotto_wasm.js";

/** What the page sends: the compiled core, the encoded derivation and the passphrase. */
export interface DeriveRequest {
  module: WebAssembly.Module;
  derivation: Uint8Array;
  passphrase: string;
}

/** The key's bytes (transferred, not copied), or why there is none. */
export type DeriveReply = { key: Uint8Array } | { error: unknown };

addEventListener("message", (event: MessageEvent<DeriveRequest>) => {
  const { module, derivation, passphrase } = event.data;
  let reply: DeriveReply;
  try {
    initSync({ module });
    reply = { key: deriveStorageKey(derivation, passphrase) };
  } catch (error) {
    reply = { error };
  }
  postMessage(reply, { transfer: "key" in reply ? [reply.key.buffer] : [] });
});
