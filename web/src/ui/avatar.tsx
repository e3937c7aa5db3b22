import { avatarHue, initials } from "../format";

export function Avatar({ name, large = false }: { name: string; large?: boolean }) {
  return (
    <span
      class={`avatar private${large ? " large" : ""}`}
      aria-hidden="true"
      style={{ "--hue": String(avatarHue(name)) }}
    >
      {initials(name)}
    </span>
  );
}
