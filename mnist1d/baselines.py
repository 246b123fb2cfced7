"""Baselines without deep learning (scikit-learn, imported when called)."""


def logistic_regression_accuracy(dataset, max_iter=2000):
    """Test accuracy (0-1) of multinomial logistic regression on the raw
    signals.

    Parameters
    ----------
    dataset : dict
        As returned by :func:`mnist1d.data.make_dataset`.
    """
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=max_iter).fit(
        dataset["x"], dataset["y"]
    )
    return float(model.score(dataset["x_test"], dataset["y_test"]))


def knn_accuracy(dataset, k=10):
    """Test accuracy (0-1) of k-nearest neighbours, Euclidean distance between
    raw signals."""
    from sklearn.neighbors import KNeighborsClassifier

    model = KNeighborsClassifier(n_neighbors=k).fit(dataset["x"], dataset["y"])
    return float(model.score(dataset["x_test"], dataset["y_test"]))
