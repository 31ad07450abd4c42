"""Training and evaluation: ``fit``/``evaluate``, callbacks, metrics, the evaluation
protocol (validation split, k-fold, repeated runs) and plots.

Example:

    >>> from tapegrad import train
    >>> history = train.fit(model, loss_fn, optimizer, train_loader, val_loader, epochs=10,
    ...                     callbacks=[train.EarlyStopping(patience=3)])
    >>> train.evaluate(model, test_loader)["error"]
"""

from .callbacks import (
    Callback,
    EarlyStopping,
    HistoryLogger,
    LRSchedulerCallback,
    ModelCheckpoint,
    ProgressBar,
    TensorBoard,
)
from .loop import (
    History,
    TrainState,
    checkpoint_state,
    evaluate,
    fit,
    predict,
    restore_checkpoint,
    train_epoch,
)
from .metrics import (
    Accuracy,
    ConfusionMatrix,
    ErrorRate,
    Loss,
    Metric,
    TopKError,
    accuracy,
    confusion_matrix,
    error_rate,
    get_metric,
    top_k_error,
)
from .plots import plot_confusion_matrix, plot_history, plot_images, plot_misclassified
from .protocol import (
    CrossValidationResult,
    RunSummary,
    cross_validate,
    k_fold,
    kfold_indices,
    repeated_runs,
    train_val_split,
)
