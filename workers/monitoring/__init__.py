"""Sentiment monitoring: topics of an item, spikes in a topic's trend."""
