"""The recommender: a ranker fine-tuned on the logged clicks on suggested articles."""
