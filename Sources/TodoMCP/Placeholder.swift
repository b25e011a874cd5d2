// The MCP server (work in progress).
