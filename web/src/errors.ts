import { isBackendError } from "./backend";

/** A message fit to show the user: the backend's own text, or a generic one. */
export function errorMessage(error: unknown): string {
  if (isBackendError(error)) return error.message;
  return "Something went wrong. Please try again.";
}
