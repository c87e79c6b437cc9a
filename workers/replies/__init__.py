"""Customer-service replies: intent, an approved answer, a generated one, or a person."""
