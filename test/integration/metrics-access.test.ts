import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers/node.ts';

/** An address of this machine that is not loopback: a request to it comes from outside as far as the node can tell. */
function externalAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry && entry.family === 'IPv4' && !entry.internal);
  if (!found) throw new Error('this test needs a non-loopback IPv4 interface (machines of the project kind have eth0)');
  return found.address;
}

const METRICS_TOKEN = 'metrics-token-0123456789';

describe('/metrics is for operators, not for anyone who can reach the port', () => {
  let open: TestNode;
  let guarded: TestNode;

  beforeAll(async () => {
    [open, guarded] = await Promise.all([
      startTestNode('postgres', { env: { HOST: '0.0.0.0', AUTH: 'on' } }),
      startTestNode('postgres', { env: { HOST: '0.0.0.0', AUTH: 'on', METRICS_TOKEN } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([open?.close(), guarded?.close()]);
  });

  const port = (node: TestNode) => new URL(node.url).port;

  it('without METRICS_TOKEN: a scraper on this machine reads it; another address or a proxied request does not', async () => {
    expect((await fetch(`http://127.0.0.1:${port(open)}/metrics`)).status).toBe(200);
    const remote = await fetch(`http://${externalAddress()}:${port(open)}/metrics`);
    expect(remote.status).toBe(403);
    expect((await remote.json()).detail).toContain('METRICS_TOKEN');
    // A reverse proxy on this machine connects from loopback, and says whom it forwards.
    for (const header of ['x-forwarded-for', 'x-real-ip', 'forwarded']) {
      const proxied = await fetch(`http://127.0.0.1:${port(open)}/metrics`, { headers: { [header]: header === 'forwarded' ? 'for=203.0.113.9' : '203.0.113.9' } });
      expect([header, proxied.status]).toEqual([header, 403]);
    }
  });

  it('with METRICS_TOKEN: only its bearers, from anywhere', async () => {
    const local = `http://127.0.0.1:${port(guarded)}/metrics`;
    expect((await fetch(local)).status).toBe(401);
    expect((await fetch(local, { headers: { authorization: 'Bearer metrics-token-wrong-guess' } })).status).toBe(401);
    const scraped = await fetch(`http://${externalAddress()}:${port(guarded)}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('tandem_connections');
  });
});
