"""Text generation jobs."""
