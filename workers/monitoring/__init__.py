"""Sentiment monitoring: stream items classified and stored, topics, spikes in a topic's trend, alerts and
reports.
"""
