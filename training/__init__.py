"""Building the models the workers serve: data, recipes, fitting, evaluation and model cards. Only the
command line imports this package; a worker never trains.
"""
