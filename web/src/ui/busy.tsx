// A button's label while its work runs (the passphrase's key derivation takes
// a noticeable moment): a spinner and what is happening. The page stays
// responsive meanwhile; the derivation runs in a worker.

export function BusyLabel({ busy, label, busyLabel }: { busy: boolean; label: string; busyLabel: string }) {
  if (!busy) return <>{label}</>;
  return (
    <>
      <span class="spinner" aria-hidden="true" />
      {busyLabel}
    </>
  );
}
