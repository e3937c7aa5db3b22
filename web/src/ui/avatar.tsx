import { avatarHue, initials } from "../format";

export function Avatar({ name }: { name: string }) {
  return (
    <span class="avatar private" aria-hidden="true" style={{ "--hue": String(avatarHue(name)) }}>
      {initials(name)}
    </span>
  );
}
