import Type from 'typebox';
import type { UserRecord } from '../../access/account-ports.ts';
import { ROLES, SCOPES } from '../../access/permissions.ts';

/** TypeBox schemas of the access-management routes (access-routes.ts). */

const Id = Type.String({ minLength: 1, maxLength: 128 });
const Email = Type.String({ minLength: 3, maxLength: 320, pattern: '^[^\\s@]+@[^\\s@]+$' });

export const ApiKeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to tell keys apart' }),
  scopes: Type.Array(Type.Enum([...SCOPES])),
  workspaceId: Type.Union([Type.String(), Type.Null()]),
  documentIds: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
});

export const CreateApiKeyBody = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 200 })),
    scopes: Type.Array(Type.Enum([...SCOPES]), { minItems: 1 }),
    workspaceId: Type.Optional(Id),
    documentIds: Type.Optional(Type.Array(Id, { maxItems: 100 })),
  },
  { additionalProperties: false },
);

export const WorkspaceView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.Enum([...ROLES]),
  createdAt: Type.String({ format: 'date-time' }),
  expireAfterDays: Type.Union([Type.Integer(), Type.Null()], { description: "Idle days before its documents expire; null: the server's EXPIRE_AFTER_DAYS" }),
});

export const WorkspaceParams = Type.Object({ workspaceId: Id });

export const MemberBody = Type.Object(
  { userId: Type.Optional(Id), email: Type.Optional(Email), role: Type.Enum([...ROLES]) },
  { additionalProperties: false, minProperties: 2 },
);

export const ShareBody = Type.Object(
  { userId: Type.Optional(Id), email: Type.Optional(Email), permission: Type.Enum(['read', 'write']) },
  { additionalProperties: false, minProperties: 2 },
);

export const DocumentKeysView = Type.Object({
  readKey: Type.String({ description: 'tdk_ key that reads the document' }),
  writeKey: Type.String({ description: 'tdk_ key that reads and writes the document' }),
});

export const SocketTokenBody = Type.Object(
  { documentId: Type.Optional(Type.String({ description: 'Limit the token to this document' })) },
  { additionalProperties: false },
);

export const UserView = Type.Object({
  id: Type.String(),
  email: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  emailVerifiedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'When the address was verified; null: never (shares and memberships by email wait as invitations until then)',
  }),
});

export const userView = (user: UserRecord) => ({
  ...user,
  createdAt: user.createdAt.toISOString(),
  emailVerifiedAt: user.emailVerifiedAt?.toISOString() ?? null,
});

export const WorkspaceInvitationView = Type.Object({
  email: Type.String(),
  role: Type.Enum([...ROLES]),
  createdAt: Type.String({ format: 'date-time' }),
});

export const ShareInvitationView = Type.Object({
  email: Type.String(),
  permission: Type.Enum(['read', 'write']),
  createdAt: Type.String({ format: 'date-time' }),
});

/** 202: the address has no verified account yet, so the membership or share waits for it. */
export const InvitedView = (view: typeof WorkspaceInvitationView | typeof ShareInvitationView) =>
  Type.Object({ invitation: view }, { description: 'Waiting until the address is verified (POST /v1/auth/verify-email)' });

export const invitationView = <T extends { createdAt: Date }>(invitation: T) => ({ ...invitation, createdAt: invitation.createdAt.toISOString() });
