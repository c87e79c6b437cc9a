"""Finding what was lost: jobs whose message or worker is gone, sent again by the sweeper."""
