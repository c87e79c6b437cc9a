"""Related articles suggested with each answer, ranked for the conversation (docs/recommendations.md)."""
