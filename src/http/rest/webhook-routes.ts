import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { WebhookService } from '../../docs/webhooks.ts';
import type { DeliveryRecord, WebhookRecord } from '../../storage/webhook-repository.ts';
import { WorkspaceParams } from '../auth/access-schemas.ts';
import { CreatedWebhook, CreateWebhookBody, DeliveriesQuery, DeliveryView, WebhookParams, WebhookView } from './webhook-schemas.ts';
import { Problem } from './schemas.ts';

const tags = ['webhooks'];
const problems = (...statuses: number[]) => Object.fromEntries(statuses.map((status) => [status, Problem]));

const webhookJson = (webhook: WebhookRecord) => ({
  id: webhook.id,
  workspaceId: webhook.workspaceId,
  url: webhook.url,
  events: webhook.events,
  active: webhook.disabledAt === null,
  consecutiveFailures: webhook.consecutiveFailures,
  disabledAt: webhook.disabledAt?.toISOString() ?? null,
  lastStatus: webhook.lastStatus,
  lastError: webhook.lastError,
  lastDeliveryAt: webhook.lastDeliveryAt?.toISOString() ?? null,
  createdAt: webhook.createdAt.toISOString(),
});

const deliveryJson = (delivery: DeliveryRecord) => ({
  id: delivery.id,
  event: delivery.event,
  status: delivery.status,
  attempts: delivery.attempts,
  lastStatus: delivery.lastStatus,
  lastError: delivery.lastError,
  deliveredAt: delivery.deliveredAt?.toISOString() ?? null,
  createdAt: delivery.createdAt.toISOString(),
  payload: delivery.payload,
});

/** A workspace's webhooks: register, list, inspect deliveries, re-enable, delete (owners and admins). */
export function registerWebhookRoutes(app: FastifyInstance, webhooks: WebhookService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const base = '/workspaces/:workspaceId/webhooks';

  api.post(
    base,
    {
      schema: {
        tags,
        summary:
          'Register a webhook: signed POSTs of the chosen events; the secret is shown only in this answer. URLs naming private addresses or internal names: 422 WEBHOOK_URL_NOT_ALLOWED',
        params: WorkspaceParams,
        body: CreateWebhookBody,
        response: { 201: CreatedWebhook, ...problems(400, 401, 403, 404, 422) },
      },
    },
    async (request, reply) => {
      const { webhook, secret } = await webhooks.create(request.principal, request.params.workspaceId, request.body);
      return reply.code(201).send({ ...webhookJson(webhook), secret });
    },
  );

  api.get(
    base,
    {
      schema: {
        tags,
        summary: "The workspace's webhooks with their delivery health (never their secrets)",
        params: WorkspaceParams,
        response: { 200: Type.Object({ webhooks: Type.Array(WebhookView) }), ...problems(401, 403, 404) },
      },
    },
    async (request) => ({ webhooks: (await webhooks.list(request.principal, request.params.workspaceId)).map(webhookJson) }),
  );

  api.get(
    `${base}/:webhookId`,
    { schema: { tags, summary: 'One webhook (without its secret)', params: WebhookParams, response: { 200: WebhookView, ...problems(401, 403, 404) } } },
    async (request) => webhookJson(await webhooks.get(request.principal, request.params.workspaceId, request.params.webhookId)),
  );

  api.get(
    `${base}/:webhookId/deliveries`,
    {
      schema: {
        tags,
        summary: "The webhook's recent deliveries, newest first, with their status, tries and last answer",
        params: WebhookParams,
        querystring: DeliveriesQuery,
        response: { 200: Type.Object({ deliveries: Type.Array(DeliveryView) }), ...problems(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { workspaceId, webhookId } = request.params;
      const deliveries = await webhooks.deliveries(request.principal, workspaceId, webhookId, request.query.limit ?? 50);
      return { deliveries: deliveries.map(deliveryJson) };
    },
  );

  api.post(
    `${base}/:webhookId/enable`,
    {
      schema: {
        tags,
        summary: 'Turn a disabled webhook back on (its failure count starts again at 0)',
        params: WebhookParams,
        response: { 200: WebhookView, ...problems(401, 403, 404, 422) },
      },
    },
    async (request) => webhookJson(await webhooks.enable(request.principal, request.params.workspaceId, request.params.webhookId)),
  );

  api.delete(
    `${base}/:webhookId`,
    {
      schema: {
        tags,
        summary: 'Delete a webhook and its delivery history; deliveries still waiting are dropped',
        params: WebhookParams,
        response: { 204: Type.Null(), ...problems(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await webhooks.remove(request.principal, request.params.workspaceId, request.params.webhookId);
      return reply.code(204).send(null);
    },
  );
}
