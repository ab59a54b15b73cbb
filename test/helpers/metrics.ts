/** The Prometheus text a running server serves at GET /metrics. */
export async function scrapeMetrics(serverUrl: string): Promise<string> {
  return (await fetch(`${serverUrl}/metrics`)).text();
}

/** The sum of a metric's series whose labels begin with `labels` (for example `route="/v1/chat/completions"`), or of all. */
export function metricSum(text: string, name: string, labels = ''): number {
  const series = new RegExp(`^${name.replace(/[^\w]/g, '\\$&')}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm');
  return [...text.matchAll(series)].filter((m) => (m[1] ?? '').startsWith(labels)).reduce((sum, m) => sum + Number(m[2]), 0);
}
