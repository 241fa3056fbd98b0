"""compare-pytorch.sh helpers. 'flops MODEL': GFLOP per image of a 1-image run (2 x multiply-accumulates of every Conv,
Gemm and MatMul, from the graph with inferred shapes; QDQ/float16 graphs count the same ops). 'gemm DIR N': writes
gemm-fp32.onnx (MatMul of two N x N float32 inputs) and gemm-int8.onnx (MatMulInteger u8 x s8 -> int32) -- the old
probe, kept for the diagnosis row. 'roofline DIR': writes the peak probes (roofline-*.onnx, one line per probe on stdout:
FILE  GOP_PER_RUN  INPUT_SHAPE  INPUT_TYPE) -- compute-bound ResNet-50-like layers at batch 8 and a 2048 x 2048 x 2048
product whose B is a constant (ONNX Runtime pre-packs it), fp32 and int8 (u8 activations x s8 per-channel weights, the
encoder's kernels). 'torchflops': the same GFLOP count as 'flops', from PyTorch's module shapes (an independent check)."""
import sys
import numpy as np
import onnx
import onnx.numpy_helper
from onnx import helper, shape_inference, TensorProto


def flops(path):
    m = onnx.load(path)
    inp = m.graph.input[0]
    inp.type.tensor_type.shape.dim[0].ClearField('dim_param'); inp.type.tensor_type.shape.dim[0].dim_value = 1
    m = shape_inference.infer_shapes(m)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in list(m.graph.value_info) + list(m.graph.output) + list(m.graph.input)}
    inits = {i.name: list(i.dims) for i in m.graph.initializer}
    # weights reached through DequantizeLinear/Cast keep the initializer's shape
    for n in m.graph.node:
        if n.op_type in ('DequantizeLinear', 'Cast') and n.input[0] in inits: inits[n.output[0]] = inits[n.input[0]]
    macs = 0
    for n in m.graph.node:
        if n.op_type in ('Conv', 'QLinearConv', 'ConvInteger'):
            w = inits[n.input[3 if n.op_type == 'QLinearConv' else 1]]
            out = shapes[n.output[0]]
            macs += int(np.prod(out)) * int(np.prod(w[1:]))
        elif n.op_type in ('Gemm', 'MatMul'):
            a, out = shapes.get(n.input[0]) or inits[n.input[0]], shapes[n.output[0]]
            macs += int(np.prod(out)) * a[-1]
    return 2 * macs / 1e9


def gemm(folder, n):
    for name, ta, tb, tc, op in [('gemm-fp32', TensorProto.FLOAT, TensorProto.FLOAT, TensorProto.FLOAT, 'MatMul'),
                                 ('gemm-int8', TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32, 'MatMulInteger')]:
        g = helper.make_graph([helper.make_node(op, ['a', 'b'], ['c'])], name,
                              [helper.make_tensor_value_info('a', ta, [n, n]), helper.make_tensor_value_info('b', tb, [n, n])],
                              [helper.make_tensor_value_info('c', tc, [n, n])])
        model = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, f'{folder}/{name}.onnx')


def roofline(folder):
    rng = np.random.default_rng(3)
    f = lambda *shape: helper.make_tensor_value_info('x', TensorProto.FLOAT, list(shape))
    u = lambda *shape: helper.make_tensor_value_info('x', TensorProto.UINT8, list(shape))
    init = lambda name, a: onnx.numpy_helper.from_array(a, name)
    probes = []
    # (name, batch, in channels, out channels, kernel, spatial): the encoder's heaviest layer shapes at batch 8
    for name, b, ci, co, k, hw in [('conv3x3', 8, 128, 128, 3, 28), ('conv1x1', 8, 1024, 256, 1, 14), ('conv3x3-wide', 8, 256, 256, 3, 14)]:
        w = (rng.standard_normal((co, ci, k, k)) * 0.05).astype(np.float32)
        out_shape = [b, co, hw, hw]
        gop = 2 * b * co * hw * hw * ci * k * k / 1e9
        g = helper.make_graph([helper.make_node('Conv', ['x', 'w'], ['y'], pads=[k // 2] * 4)], name, [f(b, ci, hw, hw)],
                              [helper.make_tensor_value_info('y', TensorProto.FLOAT, out_shape)], [init('w', w)])
        probes.append((f'roofline-fp32-{name}', g, gop, [b, ci, hw, hw], 'float32'))
        ws = np.maximum(np.abs(w).reshape(co, -1).max(axis=1), 1e-6) / 127
        wq = np.clip(np.round(w / ws[:, None, None, None]), -127, 127).astype(np.int8)
        g = helper.make_graph([helper.make_node('QLinearConv', ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], ['y'], pads=[k // 2] * 4)], name,
                              [u(b, ci, hw, hw)], [helper.make_tensor_value_info('y', TensorProto.UINT8, out_shape)],
                              [init('xs', np.array(0.02, np.float32)), init('xz', np.array(0, np.uint8)), init('w', wq),
                               init('ws', ws.astype(np.float32)), init('wz', np.zeros(co, np.int8)),
                               init('ys', np.array(0.05, np.float32)), init('yz', np.array(0, np.uint8))])
        probes.append((f'roofline-int8-{name}', g, gop, [b, ci, hw, hw], 'uint8'))
    n = 2048
    b = rng.standard_normal((n, n)).astype(np.float32)
    g = helper.make_graph([helper.make_node('MatMul', ['x', 'b'], ['y'])], 'matmul', [f(n, n)],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, [n, n])], [init('b', b)])
    probes.append(('roofline-fp32-matmul2048', g, 2 * n ** 3 / 1e9, [n, n], 'float32'))
    g = helper.make_graph([helper.make_node('MatMulInteger', ['x', 'b'], ['y'])], 'matmulinteger', [u(n, n)],
                          [helper.make_tensor_value_info('y', TensorProto.INT32, [n, n])], [init('b', rng.integers(-127, 128, (n, n), dtype=np.int8))])
    probes.append(('roofline-int8-matmul2048', g, 2 * n ** 3 / 1e9, [n, n], 'uint8'))
    for name, g, gop, shape, dtype in probes:
        model = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)]); model.ir_version = 8
        onnx.checker.check_model(model)
        onnx.save(model, f'{folder}/{name}.onnx')
        print(f'{folder}/{name}.onnx\t{gop:.4f}\t{",".join(map(str, shape))}\t{dtype}')


def torchflops():
    """Multiply-accumulates of every Conv2d/Linear of the PyTorch encoder (torch_models.encoder) on one 9 x 224 x 224
    image, from forward hooks: output elements x input channels per group x kernel area."""
    import torch
    from torch_models import encoder
    macs = []
    def hook(m, i, o):
        if isinstance(m, torch.nn.Conv2d): macs.append(o.numel() * m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1])
        elif isinstance(m, torch.nn.Linear): macs.append(o.numel() * m.in_features)
    model = encoder()
    for m in model.modules(): m.register_forward_hook(hook)
    with torch.no_grad(): model(torch.zeros(1, 9, 224, 224))
    return 2 * sum(macs) / 1e9


if sys.argv[1] == 'flops': print(f'{flops(sys.argv[2]):.3f}')
elif sys.argv[1] == 'torchflops': print(f'{torchflops():.3f}')
elif sys.argv[1] == 'roofline': roofline(sys.argv[2])
else: gemm(sys.argv[2], int(sys.argv[3]))
