import { describe, expect, it } from 'vitest';
import { checkWebhookUrl, isPublicAddress } from '../../src/docs/webhook-url.ts';

const strict = { allowPrivate: false };
const lenient = { allowPrivate: true };

describe('webhook URLs', () => {
  it('takes absolute http and https URLs to public hosts, normalised', () => {
    expect(checkWebhookUrl('https://hooks.example.com/a?b=1', strict)).toBe('https://hooks.example.com/a?b=1');
    expect(checkWebhookUrl('http://93.184.215.14:8080', strict)).toBe('http://93.184.215.14:8080/');
    expect(checkWebhookUrl('https://[2606:4700::1111]/x', strict)).toBe('https://[2606:4700::1111]/x');
  });

  it('refuses other schemes, relative URLs and credentials in the URL, whatever WEBHOOK_ALLOW_PRIVATE says', () => {
    for (const url of ['ftp://example.com', 'javascript:alert(1)', '/hooks', 'example.com/hooks', 'https://me:pw@example.com/']) {
      for (const rules of [strict, lenient]) expect(() => checkWebhookUrl(url, rules), url).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });

  it('refuses private addresses and internal names as WEBHOOK_URL_NOT_ALLOWED, and takes them with WEBHOOK_ALLOW_PRIVATE', () => {
    for (const url of ['http://127.0.0.1:8080', 'http://2130706433/', 'http://[::ffff:127.0.0.1]/', 'http://0.0.0.0/', 'http://redis:6379/', 'http://LocalHost./', 'http://a.b.internal/']) {
      expect(() => checkWebhookUrl(url, strict), url).toThrow(expect.objectContaining({ code: 'WEBHOOK_URL_NOT_ALLOWED', status: 422 }));
      expect(checkWebhookUrl(url, lenient)).toBe(new URL(url).href);
    }
  });
});

/** The address classification shared with the delivery-time filter, for ranges no test may send traffic to. */
describe('isPublicAddress', () => {
  it.each([
    '127.0.0.1', '127.255.255.254', '0.0.0.0', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.0.1', '100.64.0.1',
    '169.254.169.254', '224.0.0.1', '255.255.255.255', '192.0.2.1', '198.18.0.1',
    '::', '::1', 'fd00::1', 'fc00::1', 'fe80::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:8.8.8.8', '64:ff9b::a00:1', '2002:7f00:1::', '2001:db8::1', '::127.0.0.1', '::169.254.169.254', '::a00:1',
  ])('%s is not public', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each(['93.184.215.14', '8.8.8.8', '2606:4700::1111', '2a00:1450:4001::200e'])('%s is public', (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it('is false for anything that is not an address', () => {
    for (const text of ['localhost', '', 'example.com', '999.1.1.1']) expect(isPublicAddress(text), text).toBe(false);
  });
});
