"""Data for glassnet: IDX files, MNIST and Fashion-MNIST, CSV tables, image folders, batching.

NumPy is the only hard dependency. Downloading needs ``pooch`` and ``platformdirs``, images
need ``Pillow``; all three come with ``pip install "glassnet[data]"`` and are imported only
when a function needs them.

Modules
-------
idx            read_idx, write_idx: the IDX format of (Fashion-)MNIST, raw or gzip
fetch          fetch_file: one verified download, never a partial file
named          load_mnist, load_fashion_mnist, load, download: find on disk or download
tables         load_csv: numeric features and a class or regression target from a CSV file
images         load_image_folder, load_image, mnist_preprocess
preprocessing  train_test_split, Standardizer, one_hot, batches
prepare        prepare, prepare_rows, prepare_images, predict: the recipe on raw inputs
"""

from ..train.batching import iterate_minibatches as batches
from ._errors import (
    ChecksumError,
    DatasetError,
    DatasetNotFoundError,
    DownloadError,
    IDXFormatError,
    SkippedFileWarning,
)
from .fetch import fetch_file
from .idx import read_idx, write_idx
from .images import ImageFolder, load_image, load_image_folder, mnist_preprocess
from .named import (
    DATASETS,
    FASHION_MNIST,
    MNIST,
    Dataset,
    DatasetSpec,
    download,
    find,
    load,
    load_fashion_mnist,
    load_mnist,
    user_cache_dir,
)
from .prepare import (
    fold_target_scaling,
    input_columns,
    predict,
    prepare,
    prepare_images,
    prepare_rows,
    table_preprocessing,
    to_model_layout,
)
from .preprocessing import Standardizer, one_hot, train_test_split
from .tables import Table, load_csv

__all__ = [
    "DATASETS",
    "FASHION_MNIST",
    "MNIST",
    "ChecksumError",
    "Dataset",
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetSpec",
    "DownloadError",
    "IDXFormatError",
    "ImageFolder",
    "SkippedFileWarning",
    "Standardizer",
    "Table",
    "batches",
    "download",
    "fetch_file",
    "find",
    "fold_target_scaling",
    "input_columns",
    "load",
    "load_csv",
    "load_fashion_mnist",
    "load_image",
    "load_image_folder",
    "load_mnist",
    "mnist_preprocess",
    "one_hot",
    "predict",
    "prepare",
    "prepare_images",
    "prepare_rows",
    "to_model_layout",
    "read_idx",
    "table_preprocessing",
    "train_test_split",
    "user_cache_dir",
    "write_idx",
]
