import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { type CallToolResult, ErrorCode, McpError, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyBaseLogger } from 'fastify';
import type { Principal } from '../../access/principal.ts';
import { AppError, toProblem } from '../../errors.ts';

export type McpExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** The -32002 "resource not found" code of the MCP specification (resources/read). */
const RESOURCE_NOT_FOUND = -32002;

/**
 * Who sent this MCP message: every HTTP request to /mcp is authenticated on its own
 * (mcp-route.ts) and its principal travels in the SDK's authInfo.
 */
export function principalOf(extra: McpExtra): Principal {
  const principal = extra.authInfo?.extra?.['principal'] as Principal | undefined;
  if (!principal) throw new AppError('UNAUTHORIZED');
  return principal;
}

/** Anything a service threw, as an AppError (unknown errors are logged and become INTERNAL). */
function asAppError(error: unknown, logger: FastifyBaseLogger, where: string): AppError {
  if (error instanceof AppError) {
    if (error.status >= 500) logger.error({ err: error, where }, 'MCP request failed');
    return error;
  }
  logger.error({ err: error, where }, 'MCP request failed');
  return new AppError('INTERNAL', 'Something went wrong on our side; the request id identifies it in the logs', { cause: error });
}

/**
 * A tool error (isError: true) carrying the REST problem: the text starts with the code
 * ("EDIT_CONFLICT: ...") for the model to read, structuredContent is the problem+json body
 * (code, status, title, detail, details) for programs.
 */
export function toolError(error: unknown, logger: FastifyBaseLogger, tool: string, extra: McpExtra): CallToolResult {
  const appError = asAppError(error, logger, `tools/${tool}`);
  const problem = toProblem(appError, { instance: `mcp:tools/${tool}`, requestId: String(extra.requestId) });
  const details = problem.details === undefined ? '' : ` ${JSON.stringify(problem.details)}`;
  return {
    isError: true,
    content: [{ type: 'text', text: `${problem.code}: ${problem.detail}${details}` }],
    structuredContent: { ...problem },
  };
}

/** A tool's answer: the JSON as text (for the model) and as structuredContent (for programs). */
export function toolResult(structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
}

/**
 * An answer holding markdown: the metadata as JSON, then the markdown as it is (not escaped
 * inside the JSON, so the model reads it once, as written); structuredContent has both.
 */
export function markdownResult(meta: Record<string, unknown>, content: string): CallToolResult {
  return {
    content: [
      { type: 'text', text: JSON.stringify(meta) },
      { type: 'text', text: content },
    ],
    structuredContent: { ...meta, content },
  };
}

/** Runs a tool with the caller's principal; whatever it throws becomes a tool error. */
export function runTool(
  logger: FastifyBaseLogger,
  tool: string,
  extra: McpExtra,
  work: (principal: Principal) => Promise<CallToolResult>,
): Promise<CallToolResult> {
  return (async () => work(principalOf(extra)))().catch((error: unknown) => toolError(error, logger, tool, extra));
}

/**
 * For resources/read and resources/subscribe, which answer JSON-RPC errors rather than tool
 * results: the code stays in the message and in `data`, as in a problem.
 */
export function protocolError(error: unknown, logger: FastifyBaseLogger, where: string): McpError {
  const appError = asAppError(error, logger, where);
  const code =
    appError.code === 'DOC_NOT_FOUND' ? RESOURCE_NOT_FOUND : appError.status >= 500 ? ErrorCode.InternalError : ErrorCode.InvalidParams;
  return new McpError(code, `${appError.code}: ${appError.message}`, { code: appError.code, status: appError.status });
}
