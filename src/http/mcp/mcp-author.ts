import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { authorOfPrincipal, type Principal } from '../../access/principal.ts';
import { AGENT_NAME, type Author, asAgent } from '../../docs/authors.ts';

/** An MCP client that gave no usable name in its initialize request. */
const UNNAMED = 'MCP client';

/** An MCP session writes as the agent its client named in `clientInfo.name`, under the session's credential. */
export function mcpAuthorOf(server: McpServer, principal: Principal): Author {
  const name = server.server.getClientVersion()?.name.trim().slice(0, 64);
  return asAgent(authorOfPrincipal(principal), name && AGENT_NAME.test(name) ? name : UNNAMED);
}
