import { randomBytes } from 'node:crypto';
import type { Role } from '../access/permissions.ts';
import type { Principal } from '../access/principal.ts';
import { AppError } from '../errors.ts';
import type { WebhookEvent } from '../jobs/job-types.ts';
import type { DeliveryRecord, WebhookRecord, WebhookStore } from '../storage/webhook-repository.ts';
import { checkWebhookUrl } from './webhook-url.ts';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';

export interface WebhookService {
  /** The new hook, and its secret: the only time it is shown. */
  create(principal: Principal, workspaceId: string, input: { url: string; events: WebhookEvent[]; secret?: string | undefined }): Promise<{ webhook: WebhookRecord; secret: string }>;
  list(principal: Principal, workspaceId: string): Promise<WebhookRecord[]>;
  get(principal: Principal, workspaceId: string, webhookId: string): Promise<WebhookRecord>;
  deliveries(principal: Principal, workspaceId: string, webhookId: string, limit: number): Promise<DeliveryRecord[]>;
  remove(principal: Principal, workspaceId: string, webhookId: string): Promise<void>;
  /**
   * Re-enables a disabled hook and forgets its failures; deliveries already failed stay failed.
   * A hook whose URL the registration rules now refuse (stored before them, or while
   * WEBHOOK_ALLOW_PRIVATE was on) is not enabled: WEBHOOK_URL_NOT_ALLOWED says why.
   */
  enable(principal: Principal, workspaceId: string, webhookId: string): Promise<WebhookRecord>;
}

export interface WebhookServiceDeps {
  store: WebhookStore;
  /** The caller's role in a workspace (null: not a member), as the access store knows it. */
  roleOf(workspaceId: string, userId: string): Promise<Role | null>;
  /** WEBHOOK_ALLOW_PRIVATE: URLs naming private addresses or internal names are accepted. */
  allowPrivateUrls: boolean;
}

export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * Webhooks of a workspace, managed by its owners and admins (as members are): a person's
 * token, or an API key with the admin scope acting for them (within its workspace limit).
 * A non-member learns nothing: WORKSPACE_NOT_FOUND, as for the member routes.
 */
export function createWebhookService({ store, roleOf, allowPrivateUrls }: WebhookServiceDeps): WebhookService {
  const urlRules = { allowPrivate: allowPrivateUrls };

  async function requireAdmin(principal: Principal, workspaceId: string): Promise<void> {
    if (principal.kind === 'open') {
      if (!(await store.workspaceExists(workspaceId))) throw new AppError('WORKSPACE_NOT_FOUND');
      return;
    }
    if (principal.kind === 'document-key') throw new AppError('FORBIDDEN', 'A document key cannot manage webhooks');
    if (principal.kind === 'api-key') {
      if (!principal.scopes.includes('admin')) throw new AppError('FORBIDDEN', 'Managing webhooks needs an API key with the admin scope');
      if (principal.workspaceId !== null && principal.workspaceId !== workspaceId) throw new AppError('FORBIDDEN', 'This API key is limited to another workspace');
    }
    const role = await roleOf(workspaceId, principal.userId);
    if (role === null) throw new AppError('WORKSPACE_NOT_FOUND');
    if (role !== 'owner' && role !== 'admin') throw new AppError('FORBIDDEN', "Only the workspace's owners and admins manage its webhooks");
  }

  async function hookOf(workspaceId: string, webhookId: string): Promise<WebhookRecord> {
    const webhook = await store.find(workspaceId, webhookId);
    if (!webhook) throw new AppError('WEBHOOK_NOT_FOUND');
    return webhook;
  }

  return {
    async create(principal, workspaceId, input) {
      await requireAdmin(principal, workspaceId);
      const url = checkWebhookUrl(input.url, urlRules);
      const secret = input.secret ?? newWebhookSecret();
      const webhook = await store.create({
        id: `wh_${randomBytes(12).toString('base64url')}`,
        workspaceId,
        url,
        events: [...new Set(input.events)],
        secret,
      });
      return { webhook, secret };
    },

    async list(principal, workspaceId) {
      await requireAdmin(principal, workspaceId);
      return store.list(workspaceId);
    },

    async get(principal, workspaceId, webhookId) {
      await requireAdmin(principal, workspaceId);
      return hookOf(workspaceId, webhookId);
    },

    async deliveries(principal, workspaceId, webhookId, limit) {
      await requireAdmin(principal, workspaceId);
      const webhook = await hookOf(workspaceId, webhookId);
      return store.deliveries(webhook.id, limit);
    },

    async remove(principal, workspaceId, webhookId) {
      await requireAdmin(principal, workspaceId);
      if (!(await store.remove(workspaceId, webhookId))) throw new AppError('WEBHOOK_NOT_FOUND');
    },

    async enable(principal, workspaceId, webhookId) {
      await requireAdmin(principal, workspaceId);
      checkWebhookUrl((await hookOf(workspaceId, webhookId)).url, urlRules);
      const webhook = await store.enable(workspaceId, webhookId);
      if (!webhook) throw new AppError('WEBHOOK_NOT_FOUND');
      return webhook;
    },
  };
}
