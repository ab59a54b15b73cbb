/** What `action` threw, or undefined: for asserting on an error's fields with t.match. */
export function thrownBy(action: () => unknown): any {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}
