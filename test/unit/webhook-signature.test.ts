import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhookBody, verifyWebhookSignature } from '../../src/docs/webhook-signature.ts';

describe('webhook signatures', () => {
  const secret = 'whsec_unit';
  const body = '{"id":"whd_1","event":"mention"}';

  it('is v1= and the hex HMAC-SHA256 of "<timestamp>.<body>"', () => {
    const expected = createHmac('sha256', secret).update(`1700000000.${body}`).digest('hex');
    expect(signWebhookBody(secret, 1700000000, body)).toBe(`v1=${expected}`);
  });

  it('verifies within the tolerance, with any of several signatures, and nothing else', () => {
    const signature = signWebhookBody(secret, 1700000000, body);
    const check = (overrides: Partial<Parameters<typeof verifyWebhookSignature>[0]>) =>
      verifyWebhookSignature({ secret, body, timestamp: '1700000000', signature, nowSeconds: 1700000100, ...overrides });
    expect(check({})).toBe(true);
    expect(check({ signature: `v1=deadbeef, ${signature}` })).toBe(true);
    expect(check({ nowSeconds: 1700000000 + 301 })).toBe(false);
    expect(check({ nowSeconds: 1700000000 + 301, toleranceSeconds: 400 })).toBe(true);
    expect(check({ secret: 'whsec_other' })).toBe(false);
    expect(check({ body: `${body}\n` })).toBe(false);
    expect(check({ timestamp: '1700000001' })).toBe(false);
    expect(check({ timestamp: 'soon' })).toBe(false);
    expect(check({ timestamp: undefined })).toBe(false);
    expect(check({ signature: undefined })).toBe(false);
    expect(check({ signature: signature.replace('v1=', 'v0=') })).toBe(false);
  });
});
