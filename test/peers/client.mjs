// A client built on the official TypeScript SDK: node client.mjs URL
// (URL ending in /sse uses the legacy SSE transport). It lists tools, calls
// echo and get-sum, runs a long operation with progress, reads a resource,
// and prints what it saw as JSON.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const url = new URL(process.argv[2]);
const transport = url.pathname.endsWith("/sse") ? new SSEClientTransport(url) : new StreamableHTTPClientTransport(url);
const client = new Client({ name: "switchboard-ts-test", version: "1.0.0" });
await client.connect(transport);

const text = (res) => res.content.filter((c) => c.type === "text").map((c) => c.text).join("");
const tools = (await client.listTools()).tools.map((t) => t.name);
const echo = text(await client.callTool({ name: "echo", arguments: { message: "hi" } }));
const sum = text(await client.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } }));
let progress = 0;
await client.callTool(
  { name: "trigger-long-running-operation", arguments: { duration: 0.3, steps: 3 } },
  undefined,
  { onprogress: () => progress++ },
);
const resources = (await client.listResources()).resources;
const read = resources.length ? await client.readResource({ uri: resources[0].uri }) : { contents: [] };

console.log(JSON.stringify({ tools, echo, sum, progress, resource: resources[0]?.uri ?? "", contents: read.contents.length }));
await client.close();
