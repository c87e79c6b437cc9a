"""The sentiment and intent classifiers: labelled data sets, recipes, fine-tuning, linear heads, the out-
of-scope rule, evaluation and the card.
"""
