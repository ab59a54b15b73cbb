/** A JSON POST to a listening server: status, raw text (for leak checks) and the parsed body when it is JSON. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; text: string; json: any }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}
