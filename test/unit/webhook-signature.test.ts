import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkWebhookUrl } from '../../src/docs/webhooks.ts';
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

describe('webhook URLs', () => {
  it('takes absolute http and https URLs', () => {
    expect(checkWebhookUrl('https://hooks.example.com/a?b=1')).toBe('https://hooks.example.com/a?b=1');
    expect(checkWebhookUrl('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080/');
  });

  it('refuses other schemes, relative URLs and credentials in the URL', () => {
    for (const url of ['ftp://example.com', 'javascript:alert(1)', '/hooks', 'example.com/hooks', 'https://me:pw@example.com/']) {
      expect(() => checkWebhookUrl(url), url).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
});
