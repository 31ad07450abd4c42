"""Classic machine-learning methods of the course, written on tapegrad tensors.

These are the "shallow" baselines the lectures (seeds 002 and 004) set before neural
networks: least squares and polynomial fitting, k-nearest neighbours, Rosenblatt's
perceptron with designed features (the xor map, random products of pixels), logistic
regression trained by gradient descent, and the linear SVM with the hinge loss.

Each one is short and readable on purpose: it is the method as it is written on the
slides, vectorised where the slides' loops would only be slow.

Example:

    >>> import tapegrad as torch
    >>> from tapegrad.classic import fit_polynomial, polynomial_features
    >>> x = torch.linspace(-3.0, 3.0, 50, dtype=torch.float64)
    >>> alpha = fit_polynomial(x, x.sin(), degree=5)
    >>> yhat = polynomial_features(x, 5) @ alpha
"""

from .features import random_product_features, random_product_pairs, xor_features
from .knn import KNN, knn_predict, knn_votes, pairwise_sq_distances
from .least_squares import fit_polynomial, least_squares, polynomial_features, polynomial_predict
from .logistic import LogisticRegression
from .perceptron import Perceptron, train_perceptron
from .svm import LinearSVM

__all__ = [
    "KNN",
    "LinearSVM",
    "LogisticRegression",
    "Perceptron",
    "fit_polynomial",
    "knn_predict",
    "knn_votes",
    "least_squares",
    "pairwise_sq_distances",
    "polynomial_features",
    "polynomial_predict",
    "random_product_features",
    "random_product_pairs",
    "train_perceptron",
    "xor_features",
]
