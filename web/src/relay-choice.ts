// A relay address handed to the page in its URL (`?relay=`): where new queues
// would be created, so it is used only once the user has seen and accepted it
// (src/ui/relay-confirm.tsx). Plain WebSocket (`sotto+ws://`) is accepted only
// for a relay on this machine, as the native client does; anywhere else it
// must be `sotto://` (WebSocket over TLS).

/** The `?relay=` of `search` (a URL's query), or null. */
export function proposedRelay(search: string): string | null {
  const value = new URLSearchParams(search).get("relay");
  return value === null || value.trim() === "" ? null : value.trim();
}

/** The host of a `sotto://` or `sotto+ws://` address, lowercased, or null. */
function relayHost(address: string): string | null {
  const match = /^sotto(?:\+ws)?:\/\/[^@/]+@(\[[^\]]+\]|[^:/]+)(?::\d+)?\/?$/i.exec(address);
  return match ? match[1]!.toLowerCase() : null;
}

/** Whether `host` is this machine: `localhost` (or under it), 127.0.0.0/8 or `[::1]`. */
export function isLoopbackHost(host: string): boolean {
  return (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === "[::1]" ||
    host === "[0:0:0:0:0:0:0:1]"
  );
}

/** Why the page must not use `address`, or null when it may. */
export function relayAddressProblem(address: string): string | null {
  const host = relayHost(address);
  if (host === null) return "This is not a relay address.";
  if (/^sotto\+ws:/i.test(address) && !isLoopbackHost(host))
    return "This relay would be reached without encryption (sotto+ws://), which is allowed only for a relay on this machine. Ask for its sotto:// address.";
  return null;
}
