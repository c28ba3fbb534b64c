// A client built on the official TypeScript SDK that authenticates with a
// bearer token: MCP_TOKEN=... node token-client.mjs URL TOOL. It lists the
// tools, calls TOOL with {text: "ts"}, and prints what it saw as JSON.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const url = new URL(process.argv[2]);
const tool = process.argv[3];
const transport = new StreamableHTTPClientTransport(url, {
  requestInit: { headers: { Authorization: `Bearer ${process.env.MCP_TOKEN}` } },
});
const client = new Client({ name: "switchboard-ts-token-test", version: "1.0.0" });
await client.connect(transport);
const tools = (await client.listTools()).tools.map((t) => t.name);
const res = await client.callTool({ name: tool, arguments: { text: "ts" } });
const text = res.content.filter((c) => c.type === "text").map((c) => c.text).join("");
console.log(JSON.stringify({ tools, text, isError: res.isError ?? false }));
await client.close();
