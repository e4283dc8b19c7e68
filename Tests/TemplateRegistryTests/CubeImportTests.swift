import Foundation
import Testing
import TrellisCore

@testable import TemplateRegistry

/// Two templates shaped as cube-studio ships them (myapp/init/init-job-template.json): its distributed-training
/// launcher and its custom-image template.
@Suite struct CubeImportTests {
    static let cubeFile = #"""
        {
          "pytorchjob": {
            "project_name": "分布式训练",
            "image_name": "ccr.ccs.tencentyun.com/cube-studio/pytorch:20230801",
            "image_describe": "pytorch distributed training launcher",
            "job_template_name": "pytorchjob",
            "job_template_describe": "pytorch distributed training",
            "job_template_command": "python3 launcher.py",
            "job_template_volume": "kubeflow-user-workspace(pvc):/mnt,10G(memory):/dev/shm",
            "job_template_account": "kubeflow-pipeline",
            "job_template_env": "NO_RESOURCE_CHECK=true\nTASK_RESOURCE_CPU=2\nTASK_RESOURCE_MEMORY=4G\nTASK_RESOURCE_GPU=0\nNCCL_DEBUG=INFO",
            "job_template_expand": {"index": 2, "rec_job_template": "自定义镜像", "help_url": "/job-template/job/pytorch"},
            "job_template_args": {
              "分布式训练": {
                "--image": {"type": "str", "item_type": "str", "label": "worker image", "require": 1, "choice": [], "range": "",
                            "default": "ccr.ccs.tencentyun.com/cube-studio/ubuntu-gpu:cuda11.8.0", "placeholder": "", "describe": "image", "editable": 1},
                "--working_dir": {"type": "str", "item_type": "str", "label": "working dir", "require": 1, "choice": [], "range": "",
                                  "default": "/mnt/{{creator}}/pipeline/example/pytorch", "placeholder": "", "describe": "dir", "editable": 1},
                "--command": {"type": "str", "item_type": "str", "label": "command", "require": 1, "choice": [], "range": "",
                              "default": "bash start.sh", "placeholder": "", "describe": "command", "editable": 1},
                "--num_worker": {"type": "str", "item_type": "str", "label": "worker数量", "require": 1, "choice": [], "range": "",
                                 "default": "3", "placeholder": "分布式训练worker的数目", "describe": "分布式训练worker的数目", "editable": 1, "regex": "^[0-9]*$"},
                "--backend": {"type": "enum", "item_type": "str", "label": "backend", "require": 0, "choice": {"nccl": "NCCL", "gloo": "Gloo"},
                              "range": "", "default": "nccl", "placeholder": "", "describe": "", "editable": 1}
              }
            }
          },
          "自定义镜像": {
            "project_name": "基础命令",
            "image_name": "ubuntu:20.04",
            "gitpath": "",
            "image_describe": "开源ubuntu:20.04基础镜像",
            "job_template_name": "自定义镜像",
            "job_template_describe": "使用用户自定义镜像作为运行镜像",
            "job_template_expand": {"index": 1},
            "job_template_args": {
              "任务": {
                "images": {"type": "str", "item_type": "str", "label": "要调试的镜像", "require": 1, "choice": [], "range": "",
                           "default": "ccr.ccs.tencentyun.com/cube-studio/ubuntu-gpu:cuda11.8.0-cudnn8-python3.9", "placeholder": "", "describe": "要调试的镜像", "editable": 1},
                "workdir": {"type": "str", "item_type": "str", "label": "启动目录", "require": 1, "choice": [], "range": "",
                            "default": "/mnt/{{creator}}/", "placeholder": "", "describe": "启动目录", "editable": 1},
                "command": {"type": "str", "item_type": "str", "label": "启动命令", "require": 1, "choice": [], "range": "",
                            "default": "echo 'test'", "placeholder": "", "describe": "启动命令", "editable": 1}
              }
            }
          }
        }
        """#

    @Test func theDistributedTrainingTemplateKeepsItsParametersInOrder() throws {
        let converted = try CubeImport.convert(Self.cubeFile)
        #expect(converted.map(\.spec.name) == ["pytorchjob", "custom-image"])
        let pytorch = converted[0]
        #expect(pytorch.spec.problems() == [])
        #expect(pytorch.spec.command == ["python3", "launcher.py"])
        #expect(pytorch.spec.serviceAccount == "kubeflow-pipeline")
        #expect(pytorch.spec.mounts == ["kubeflow-user-workspace(pvc):/mnt", "10G(memory):/dev/shm"])
        #expect(pytorch.spec.env == ["NCCL_DEBUG": "INFO"])
        #expect(pytorch.spec.resources == TemplateSpec.Resources(cpu: "2", memory: "4Gi", gpu: 0))
        #expect(pytorch.spec.recommendedNext == "custom-image")
        #expect(pytorch.spec.category == "分布式训练")
        let parameters = pytorch.spec.schema.parameters
        #expect(parameters.map(\.name) == ["image", "working_dir", "command", "num_worker", "backend"])
        #expect(parameters[3].regex == "^[0-9]*$")
        #expect(parameters[4].choices == [.string("nccl"), .string("gloo")])
        #expect(pytorch.notes.contains("分布式训练/--backend: choice display names were dropped (values kept)"))
        #expect(pytorch.notes.contains("env NO_RESOURCE_CHECK was dropped (Trellis does not rewrite resources)"))

        // A task of it: defaults fill in, the regex still guards the worker count, flags keep cube's names.
        let args = try pytorch.spec.schema.resolve(["num_worker": .int(4)], field: "args")
        #expect(
            TaskInvocation.flags(args) == [
                "--image", "ccr.ccs.tencentyun.com/cube-studio/ubuntu-gpu:cuda11.8.0", "--working_dir",
                "/mnt/{{creator}}/pipeline/example/pytorch",
                "--command", "bash start.sh", "--num_worker", "4", "--backend", "nccl",
            ])
        #expect(throws: ValidationErrors.self) { try pytorch.spec.schema.resolve(["num_worker": .string("four")], field: "args") }
    }

    @Test func theCustomImageTemplateRunsItsCommandInItsWorkdir() throws {
        let custom = try CubeImport.convert(Self.cubeFile)[1]
        #expect(custom.spec.problems() == [])
        #expect(custom.spec.image == "ccr.ccs.tencentyun.com/cube-studio/ubuntu-gpu:cuda11.8.0-cudnn8-python3.9")
        #expect(custom.spec.schema.parameters.map(\.name) == ["workdir", "command"])
        #expect(custom.notes.contains("name 自定义镜像 became custom-image"))

        let (status, output) = try BuiltinTemplateTests.run(
            custom.spec, args: ["workdir": .string("/usr"), "command": .string("pwd && echo 'test'")])
        #expect(status == 0)
        #expect(output == "/usr\ntest\n")
    }

    @Test func aSingleEntryAndBadFilesAreHandled() throws {
        let single = #"{"job_template_name": "echo-it", "image_name": "busybox", "job_template_command": "echo", "job_template_args": {}}"#
        #expect(try CubeImport.convert(single).map(\.spec.name) == ["echo-it"])
        #expect(throws: CubeImport.Failure.self) { try CubeImport.convert(#"{"job_template_name": "x"}"#) }
        #expect(throws: CubeImport.Failure.self) { try CubeImport.convert("[1, 2]") }
    }
}
