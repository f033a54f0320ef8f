"""The LLM transport: one chat-model seam, the reply cleaner, structured output, the one fallback policy."""
