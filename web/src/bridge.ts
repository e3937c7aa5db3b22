// Where the production build gets its Backend: the Rust core compiled to
// wasm32 behind the `crates/sotto-wasm` bridge. Until that bridge exists the
// page says so instead of pretending to work.

import type { Backend, BackendError } from "./backend";

export async function loadBackend(): Promise<Backend> {
  const error: BackendError = {
    kind: "internal",
    message: "This build of the web client does not include the Sotto core yet.",
  };
  throw error;
}
