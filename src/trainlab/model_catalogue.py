"""The models `trainlab list models` prints. Written by `python -m trainlab.models.catalogue`
from the model registry; do not edit (tests/test_model_catalogue.py checks it)."""

REFERENCE_NOTE = 'parameters (M) for 3x32x32 images with 10 classes, texts with a 20,000-word vocabulary and 2 classes, one series of 24-step windows, language models over 67 characters'

# (name, task, parameters on the task's reference data or None, summary)
MODELS = (
    ('gru', 'forecast', 12929, 'GRU forecaster: direct, recursive or seq2seq over sliding windows.'),
    ('gru', 'language-model', 823875, 'GRU language model: embeddings, stacked GRU, next-token softmax (optionally tied).'),
    ('gru', 'sequence-classification', None, 'GRU for synthetic sequence tasks.'),
    ('gru', 'text-classification', 2659330, 'GRU text classifier: embeddings, (bi)GRU layers, pooling, linear head.'),
    ('lstm', 'forecast', 17217, 'LSTM forecaster: direct, recursive or seq2seq over sliding windows.'),
    ('lstm', 'language-model', 1087043, 'LSTM language model: embeddings, stacked LSTM, next-token softmax (optionally tied).'),
    ('lstm', 'sequence-classification', None, 'LSTM for synthetic sequence tasks; forget-gate bias or chrono initialisation as options.'),
    ('lstm', 'text-classification', 2692354, 'LSTM text classifier: embeddings, (bi)LSTM layers, pooling, linear head.'),
    ('mlp', 'image-classification', 820874, 'Multilayer perceptron on flattened pixels: the baseline every CNN should beat.'),
    ('resnet101', 'image-classification', 42520650, 'ResNet-101 (torchvision layout and keys): bottleneck blocks [3, 4, 23, 3], 44.5M parameters.'),
    ('resnet110', 'image-classification', 1727962, 'ResNet-110 for 32x32 images (He et al. 2016): 3 stages of 18 basic blocks, 1.7M parameters.'),
    ('resnet18', 'image-classification', 11181642, 'ResNet-18 (torchvision layout and keys): basic blocks [2, 2, 2, 2], 11.7M parameters.'),
    ('resnet20', 'image-classification', 269722, 'ResNet-20 for 32x32 images (He et al. 2016): 3 stages of 3 basic blocks, 0.27M parameters.'),
    ('resnet32', 'image-classification', 464154, 'ResNet-32 for 32x32 images (He et al. 2016): 3 stages of 5 basic blocks, 0.46M parameters.'),
    ('resnet34', 'image-classification', 21289802, 'ResNet-34 (torchvision layout and keys): basic blocks [3, 4, 6, 3], 21.8M parameters.'),
    ('resnet44', 'image-classification', 658586, 'ResNet-44 for 32x32 images (He et al. 2016): 3 stages of 7 basic blocks, 0.66M parameters.'),
    ('resnet50', 'image-classification', 23528522, 'ResNet-50 (torchvision layout and keys): bottleneck blocks [3, 4, 6, 3], 25.6M parameters.'),
    ('resnet56', 'image-classification', 853018, 'ResNet-56 for 32x32 images (He et al. 2016): 3 stages of 9 basic blocks, 0.85M parameters.'),
    ('resnet_cifar', 'image-classification', 269722, 'CIFAR ResNet of depth model.depth = 6n + 2 (He et al. 2016, section 4.2).'),
    ('resnext29_4x16d', 'image-classification', 3172426, 'ResNeXt-29 4x16d for 32x32 images: the 8x64d layout, narrow enough to train on a CPU.'),
    ('resnext29_8x64d', 'image-classification', 34426698, 'ResNeXt-29 8x64d for 32x32 images (Xie et al. 2017): 3 stages of 3 bottlenecks, 34.4M parameters.'),
    ('resnext50_32x4d', 'image-classification', 23000394, 'ResNeXt-50 32x4d (Xie et al. 2017; torchvision layout and keys): 25.0M parameters.'),
    ('rnn', 'forecast', 4353, 'Elman RNN (tanh) forecaster: direct, recursive or seq2seq over sliding windows.'),
    ('rnn', 'language-model', 297539, 'Elman RNN (tanh or relu) language model: embeddings, stacked RNN, next-token softmax.'),
    ('rnn', 'sequence-classification', None, 'Elman RNN (tanh or relu) for synthetic sequence tasks, W_hh initialisation as an option.'),
    ('rnn', 'text-classification', 2593282, 'Elman RNN (tanh or relu) text classifier: embeddings, (bi)RNN layers, pooling, linear head.'),
    ('simple_cnn', 'image-classification', 545194, 'Keras-style CNN: conv-BN-ReLU-pool blocks, a hidden dense layer, the classifier.'),
    ('vgg11', 'image-classification', 9225610, 'VGG-11 (configuration A): 8 convolutions, 133M parameters at 224x224 (9.2M on 32x32).'),
    ('vgg11_bn', 'image-classification', 9231114, 'VGG-11 with BatchNorm after every convolution.'),
    ('vgg13', 'image-classification', 9410122, 'VGG-13 (configuration B): 10 convolutions, 133M parameters at 224x224 (9.4M on 32x32).'),
    ('vgg13_bn', 'image-classification', 9416010, 'VGG-13 with BatchNorm after every convolution.'),
    ('vgg16', 'image-classification', 14719818, 'VGG-16 (configuration D): 13 convolutions, 138M parameters at 224x224 (14.7M on 32x32).'),
    ('vgg16_bn', 'image-classification', 14728266, 'VGG-16 with BatchNorm after every convolution.'),
    ('vgg19', 'image-classification', 20029514, 'VGG-19 (configuration E): 16 convolutions, 144M parameters at 224x224 (20.0M on 32x32).'),
    ('vgg19_bn', 'image-classification', 20040522, 'VGG-19 with BatchNorm after every convolution.'),
)
