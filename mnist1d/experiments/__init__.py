"""One module per chapter experiment; chapters call these and only plot and
explain.
"""
