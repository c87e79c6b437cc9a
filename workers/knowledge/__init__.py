"""The knowledge base of approved answers: reading source files, storing entries, embedding them."""
