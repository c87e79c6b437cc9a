"""Data and evaluation for customer-service replies: pairs from feedback, the answers a reply model is
shown, and the reply pipeline scored on held-out questions.
"""
