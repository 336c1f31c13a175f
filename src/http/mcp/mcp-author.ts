import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { authorOfPrincipal, type Principal } from '../../access/principal.ts';
import { type Author, asAgent, isAgentName } from '../../docs/authors.ts';

/** An MCP client that gave no usable name in its initialize request. */
const UNNAMED = 'MCP client';

/** An MCP session writes as the agent its client named in `clientInfo.name`, under the session's credential. */
export function mcpAuthorOf(server: McpServer, principal: Principal): Author {
  // Cut by characters, not UTF-16 units, so that an emoji is never halved.
  const name = Array.from(server.server.getClientVersion()?.name.trim() ?? '').slice(0, 64).join('');
  return asAgent(authorOfPrincipal(principal), isAgentName(name) ? name : UNNAMED);
}
