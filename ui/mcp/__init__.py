"""The MCP face (`papers mcp`): the library as tools and resources for an AI assistant, through the
official `mcp` SDK (`MCPServer`).

`server.py` builds the server over one `Engine` (tools `search_papers`, `ask_papers`,
`compare_papers`, `summarize_papers`, `get_paper`, `add_papers`; a `paper://{id}` resource per
paper); `http.py` serves it over streamable HTTP behind the REST API's keys (ui/api/auth.py).
"""
