"""Oracle for the UCF101 / HMDB51 readers: the official split files as torchvision and PyTorchVideo
read them.

usage: datasets_splits.py ucf101 VIDEOS_ROOT LISTS_DIR FOLD
       datasets_splits.py hmdb51 VIDEOS_ROOT SPLITS_DIR FOLD

Prints one JSON object:
  - "order": the test videos in list order, as paths relative to VIDEOS_ROOT (UCF101: PyTorchVideo's
    `LabeledVideoPaths.from_path` on testlist0N.txt; HMDB51: `Hmdb51LabeledVideoPaths.from_dir`,
    split type "test");
  - "labeled": [absolute path, label index] per test video (UCF101: torchvision's `UCF101` fold
    selection and its folder class indices; HMDB51: PyTorchVideo's class name, indexed among the
    fold's split-file class names sorted alphabetically, the order PyTorchVideo's folder datasets use).
"""

import json
import os
import pathlib
import sys

from pytorchvideo.data.hmdb51 import Hmdb51LabeledVideoPaths
from pytorchvideo.data.labeled_video_paths import LabeledVideoPaths
from torchvision.datasets import UCF101
from torchvision.datasets.folder import find_classes, make_dataset


def ucf101(root, lists, fold):
    testlist = os.path.join(lists, f"testlist{fold:02d}.txt")
    order = [p for p, _ in LabeledVideoPaths.from_path(testlist)._paths_and_labels]
    _, class_to_idx = find_classes(root)
    samples = make_dataset(root, class_to_idx, ("avi",), is_valid_file=None)
    video_list = [p for p, _ in samples]

    class Folder:  # what UCF101._select_fold reads of the dataset object
        pass

    folder = Folder()
    folder.root = root
    indices = UCF101._select_fold(folder, video_list, lists, fold, False)
    labeled = [[samples[i][0], samples[i][1]] for i in indices]
    return order, labeled


def hmdb51(root, splits, fold):
    paths = Hmdb51LabeledVideoPaths.from_dir(splits, split_id=fold, split_type="test")
    suffix = f"_test_split{fold}"
    names = sorted(
        "_".join(f.stem.split("_")[:-2])
        for f in pathlib.Path(splits).iterdir()
        if f.suffix == ".txt" and f.stem.endswith(suffix)
    )
    order = [p for p, _ in paths._paths_and_labels]
    labeled = [
        [os.path.join(root, p), names.index(meta["label"])] for p, meta in paths._paths_and_labels
    ]
    return order, labeled


def main():
    kind, root, lists, fold = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    order, labeled = (ucf101 if kind == "ucf101" else hmdb51)(root, lists, fold)
    print(json.dumps({"order": order, "labeled": labeled}))


if __name__ == "__main__":
    main()
