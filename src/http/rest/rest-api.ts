import type { FastifyInstance } from 'fastify';
import type { CommentService } from '../../docs/comments.ts';
import type { Blame } from '../../docs/blame.ts';
import type { Reverter } from '../../docs/revert.ts';
import type { DocumentHistory } from '../../docs/document-history.ts';
import { isValidDocumentId } from '../../docs/document-id.ts';
import type { DocumentService } from '../../docs/document-service.ts';
import type { NotificationService } from '../../docs/notifications.ts';
import type { SuggestionService } from '../../docs/suggestions.ts';
import type { WebhookService } from '../../docs/webhooks.ts';
import { AppError } from '../../errors.ts';
import type { AccessService } from '../../access/access-service.ts';
import type { AccountService } from '../../access/account-service.ts';
import type { EmailVerification } from '../../access/email-verification.ts';
import type { Authorizer } from '../../access/authorizer.ts';
import type { Credentials } from '../../access/credentials.ts';
import type { JobPublisher } from '../../jobs/ports.ts';
import { requireCredential } from '../auth/authenticate.ts';
import { registerAccessRoutes } from '../auth/access-routes.ts';
import { registerAccountRoutes } from '../auth/account-routes.ts';
import { registerInvitationRoutes } from '../auth/invitation-routes.ts';
import { registerVerificationRoutes } from '../auth/verification-routes.ts';
import { requireDocumentAccess } from '../auth/document-access.ts';
import { registerAuthorshipRoutes } from './authorship-routes.ts';
import { registerCommentRoutes } from './comment-routes.ts';
import { registerDocumentRoutes } from './document-routes.ts';
import { registerNotificationRoutes } from './notification-routes.ts';
import { registerSuggestionRoutes } from './suggestion-routes.ts';
import { registerSyncRoutes } from './sync-routes.ts';
import { registerVersionRoutes } from './version-routes.ts';
import { registerWebhookRoutes } from './webhook-routes.ts';
import { registerYjsRoutes } from './yjs-routes.ts';

export interface RestDeps {
  documents: DocumentService;
  history: DocumentHistory;
  blame: Blame;
  reverter: Reverter;
  credentials: Credentials;
  authorizer: Authorizer;
  access: AccessService;
  accounts: AccountService;
  /** Background work: comments' notifications, webhook events. */
  jobs: JobPublisher;
  comments: CommentService;
  suggestions: SuggestionService;
  notifications: NotificationService;
  webhooks: WebhookService;
  verification: EmailVerification;
  /** ADMIN_TOKEN, for the operator routes; null: they answer 403. */
  adminToken: string | null;
}

/** The agents' API under /v1 (INTERFACE.md, "REST"). */
export async function restApi(app: FastifyInstance, deps: RestDeps): Promise<void> {
  // Markdown and diffs arrive as text; raw Yjs updates as bytes.
  app.addContentTypeParser(['text/markdown', 'text/x-diff'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // Who is calling, first: no credential is 401 whatever else is wrong with the request.
  requireCredential(app, deps.credentials);
  // Before schema validation, so a bad id is INVALID_DOCUMENT_ID (as on the sockets), not a schema error.
  app.addHook('preValidation', async (request) => {
    const { id } = (request.params ?? {}) as { id?: string };
    if (id !== undefined && !isValidDocumentId(id)) throw new AppError('INVALID_DOCUMENT_ID');
  });
  requireDocumentAccess(app, deps.authorizer);

  registerDocumentRoutes(app, deps.documents, deps.authorizer);
  registerVersionRoutes(app, deps);
  registerAuthorshipRoutes(app, deps);
  registerYjsRoutes(app, deps.documents);
  registerSyncRoutes(app, deps.history, deps.authorizer);
  registerCommentRoutes(app, deps);
  registerSuggestionRoutes(app, deps);
  registerNotificationRoutes(app, deps.notifications);
  registerWebhookRoutes(app, deps.webhooks);
  registerAccessRoutes(app, deps.access);
  registerInvitationRoutes(app, deps.access);
  registerAccountRoutes(app, deps.accounts);
  registerVerificationRoutes(app, { verification: deps.verification, adminToken: deps.adminToken });
}
