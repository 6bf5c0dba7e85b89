// What the app keeps on this device (localStorage): the dev user id, this device's id and
// name, and a backend chosen by a pairing link. Nothing secret: access tokens stay in memory
// (or in supabase-js's own storage on a hosted project).
const PREFIX = "agentops.";

export function load(key: string): string | null {
  try {
    return localStorage.getItem(PREFIX + key);
  } catch {
    return null;
  }
}

export function save(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(PREFIX + key);
    else localStorage.setItem(PREFIX + key, value);
  } catch { /* storage full or blocked: the app still works for this visit */ }
}
