# bash completion for pod, generated from its commands by `pod completion bash`.
# Do not edit: in pod's source tree, `python completions/generate.py` regenerates
# the checked-in copies in completions/.

declare -gA _pod_subcommands=(
    ['pod']='build commit completion container cp create diff exec export history image images import info inspect kill load login logout logs mount network pause port ps pull push rename restart rm rmi run save start stats stop system tag top umount unpause unshare untag version volume wait'
    ['pod container']='commit cp create diff exists export inspect kill list logs ls mount pause port prune ps rename restart rm run start stats stop top umount unpause wait'
    ['pod image']='build exists history import inspect list load ls mount prune pull push rm save tag unmount untag'
    ['pod network']='connect create disconnect exists inspect ls prune rm'
    ['pod system']='df info prune reset'
    ['pod volume']='create exists inspect ls prune rm'
)
declare -gA _pod_flags=(
    ['pod']='--help --version -v'
    ['pod build']='--help --layers --no-cache --no-layers --quiet --squash --squash-all -q'
    ['pod commit']='--help --pause --quiet --squash -p -q -s'
    ['pod completion']='--help --no-desc'
    ['pod container']='--help'
    ['pod container commit']='--help --pause --quiet --squash -p -q -s'
    ['pod container cp']='--archive --help --no-archive -a'
    ['pod container create']='--detach --help --init --interactive --no-sig-proxy --privileged --publish-all --quiet --read-only --replace --rm --sig-proxy --tty -P -d -i -q -t'
    ['pod container diff']='--help'
    ['pod container exists']='--help'
    ['pod container export']='--help'
    ['pod container inspect']='--help'
    ['pod container kill']='--all --help -a'
    ['pod container list']='--all --external --help --latest --no-trunc --noheading --quiet --size -a -l -q -s'
    ['pod container logs']='--follow --help --latest --names --timestamps -f -l -n -t'
    ['pod container ls']='--all --external --help --latest --no-trunc --noheading --quiet --size -a -l -q -s'
    ['pod container mount']='--help --notruncate'
    ['pod container pause']='--all --help -a'
    ['pod container port']='--all --help -a'
    ['pod container prune']='--force --help -f'
    ['pod container ps']='--all --external --help --latest --no-trunc --noheading --quiet --size -a -l -q -s'
    ['pod container rename']='--help'
    ['pod container restart']='--all --help --running -a'
    ['pod container rm']='--all --force --help --ignore --volumes -a -f -i -v'
    ['pod container run']='--detach --help --init --interactive --no-sig-proxy --privileged --publish-all --quiet --read-only --replace --rm --sig-proxy --tty -P -d -i -q -t'
    ['pod container start']='--attach --help --interactive --no-sig-proxy --sig-proxy -a -i'
    ['pod container stats']='--all --help --no-reset --no-stream -a'
    ['pod container stop']='--all --help --ignore -a -i'
    ['pod container top']='--help'
    ['pod container umount']='--all --force --help -a -f'
    ['pod container unpause']='--all --help -a'
    ['pod container wait']='--help'
    ['pod cp']='--archive --help --no-archive -a'
    ['pod create']='--detach --help --init --interactive --no-sig-proxy --privileged --publish-all --quiet --read-only --replace --rm --sig-proxy --tty -P -d -i -q -t'
    ['pod diff']='--help'
    ['pod exec']='--detach --help --interactive --latest --privileged --tty -d -i -l -t'
    ['pod export']='--help'
    ['pod history']='--help --human --no-human --no-trunc --quiet -H -q'
    ['pod image']='--help'
    ['pod image build']='--help --layers --no-cache --no-layers --quiet --squash --squash-all -q'
    ['pod image exists']='--help'
    ['pod image history']='--help --human --no-human --no-trunc --quiet -H -q'
    ['pod image import']='--help --quiet -q'
    ['pod image inspect']='--help'
    ['pod image list']='--all --digests --help --no-trunc --noheading --quiet -a -n -q'
    ['pod image load']='--help --quiet -q'
    ['pod image ls']='--all --digests --help --no-trunc --noheading --quiet -a -n -q'
    ['pod image mount']='--help'
    ['pod image prune']='--all --force --help -a -f'
    ['pod image pull']='--all-tags --help --no-tls-verify --quiet --tls-verify -a -q'
    ['pod image push']='--help --no-tls-verify --quiet --tls-verify -q'
    ['pod image rm']='--all --force --help --ignore -a -f -i'
    ['pod image save']='--compress --help --multi-image-archive --quiet --uncompressed -m -q'
    ['pod image tag']='--help'
    ['pod image unmount']='--all --force --help -a -f'
    ['pod image untag']='--help'
    ['pod images']='--all --digests --help --no-trunc --noheading --quiet -a -n -q'
    ['pod import']='--help --quiet -q'
    ['pod info']='--help'
    ['pod inspect']='--help'
    ['pod kill']='--all --help -a'
    ['pod load']='--help --quiet -q'
    ['pod login']='--get-login --help --no-tls-verify --password-stdin --tls-verify'
    ['pod logout']='--all --help -a'
    ['pod logs']='--follow --help --latest --names --timestamps -f -l -n -t'
    ['pod mount']='--help --notruncate'
    ['pod network']='--help'
    ['pod network connect']='--help'
    ['pod network create']='--help --internal'
    ['pod network disconnect']='--help'
    ['pod network exists']='--help'
    ['pod network inspect']='--help'
    ['pod network ls']='--help --no-trunc --noheading --quiet -q'
    ['pod network prune']='--force --help -f'
    ['pod network rm']='--force --help -f'
    ['pod pause']='--all --help -a'
    ['pod port']='--all --help -a'
    ['pod ps']='--all --external --help --latest --no-trunc --noheading --quiet --size -a -l -q -s'
    ['pod pull']='--all-tags --help --no-tls-verify --quiet --tls-verify -a -q'
    ['pod push']='--help --no-tls-verify --quiet --tls-verify -q'
    ['pod rename']='--help'
    ['pod restart']='--all --help --running -a'
    ['pod rm']='--all --force --help --ignore --volumes -a -f -i -v'
    ['pod rmi']='--all --force --help --ignore -a -f -i'
    ['pod run']='--detach --help --init --interactive --no-sig-proxy --privileged --publish-all --quiet --read-only --replace --rm --sig-proxy --tty -P -d -i -q -t'
    ['pod save']='--compress --help --multi-image-archive --quiet --uncompressed -m -q'
    ['pod start']='--attach --help --interactive --no-sig-proxy --sig-proxy -a -i'
    ['pod stats']='--all --help --no-reset --no-stream -a'
    ['pod stop']='--all --help --ignore -a -i'
    ['pod system']='--help'
    ['pod system df']='--help --verbose -v'
    ['pod system info']='--help'
    ['pod system prune']='--all --force --help --volumes -a -f'
    ['pod system reset']='--force --help -f'
    ['pod tag']='--help'
    ['pod top']='--help'
    ['pod umount']='--all --force --help -a -f'
    ['pod unpause']='--all --help -a'
    ['pod unshare']='--help'
    ['pod untag']='--help'
    ['pod version']='--help'
    ['pod volume']='--help'
    ['pod volume create']='--help --ignore'
    ['pod volume exists']='--help'
    ['pod volume inspect']='--all --help -a'
    ['pod volume ls']='--help --noheading --quiet -n -q'
    ['pod volume prune']='--force --help -f'
    ['pod volume rm']='--all --force --help -a -f'
    ['pod wait']='--help'
)
declare -gA _pod_value_options=(
    ['pod']='--log-level --root --runroot --storage-driver'
    ['pod build']='--annotation --build-arg --build-context --env --file --format --iidfile --label --network --platform --pull --runtime --secret --tag --target --timestamp --volume -f -t -v'
    ['pod commit']='--author --change --format --message -a -c -f -m'
    ['pod completion']='--file -f'
    ['pod container commit']='--author --change --format --message -a -c -f -m'
    ['pod container create']='--add-host --cap-add --cap-drop --cidfile --cpu-shares --cpus --cpuset-cpus --device --device-cgroup-rule --dns --dns-option --dns-search --entrypoint --env --env-file --expose --hostname --init-path --ip --label --log-driver --memory --memory-swap --mount --name --net --network --network-alias --oom-score-adj --pids-limit --publish --pull --restart --runtime --security-opt --shm-size --stop-signal --stop-timeout --tmpfs --ulimit --user --userns --volume --workdir -c -e -h -l -m -p -u -v -w'
    ['pod container diff']='--format'
    ['pod container export']='--output -o'
    ['pod container inspect']='--format -f'
    ['pod container kill']='--signal -s'
    ['pod container list']='--filter --format --last --sort -f -n'
    ['pod container logs']='--since --tail --until'
    ['pod container ls']='--filter --format --last --sort -f -n'
    ['pod container ps']='--filter --format --last --sort -f -n'
    ['pod container restart']='--time -t'
    ['pod container rm']='--time -t'
    ['pod container run']='--add-host --cap-add --cap-drop --cidfile --cpu-shares --cpus --cpuset-cpus --device --device-cgroup-rule --dns --dns-option --dns-search --entrypoint --env --env-file --expose --hostname --init-path --ip --label --log-driver --memory --memory-swap --mount --name --net --network --network-alias --oom-score-adj --pids-limit --publish --pull --restart --runtime --security-opt --shm-size --stop-signal --stop-timeout --tmpfs --ulimit --user --userns --volume --workdir -c -e -h -l -m -p -u -v -w'
    ['pod container stats']='--format --interval -i'
    ['pod container stop']='--time -t'
    ['pod container wait']='--condition --interval -i'
    ['pod create']='--add-host --cap-add --cap-drop --cidfile --cpu-shares --cpus --cpuset-cpus --device --device-cgroup-rule --dns --dns-option --dns-search --entrypoint --env --env-file --expose --hostname --init-path --ip --label --log-driver --memory --memory-swap --mount --name --net --network --network-alias --oom-score-adj --pids-limit --publish --pull --restart --runtime --security-opt --shm-size --stop-signal --stop-timeout --tmpfs --ulimit --user --userns --volume --workdir -c -e -h -l -m -p -u -v -w'
    ['pod diff']='--format'
    ['pod exec']='--env --env-file --user --workdir -e -u -w'
    ['pod export']='--output -o'
    ['pod history']='--format'
    ['pod image build']='--annotation --build-arg --build-context --env --file --format --iidfile --label --network --platform --pull --runtime --secret --tag --target --timestamp --volume -f -t -v'
    ['pod image history']='--format'
    ['pod image import']='--arch --change --message --os --variant -c -m'
    ['pod image inspect']='--format -f'
    ['pod image list']='--filter --format --sort -f'
    ['pod image load']='--input -i'
    ['pod image ls']='--filter --format --sort -f'
    ['pod image pull']='--arch --authfile --cert-dir --creds --os --platform --policy --variant'
    ['pod image push']='--authfile --cert-dir --creds --digestfile --format -f'
    ['pod image save']='--format --output -o'
    ['pod images']='--filter --format --sort -f'
    ['pod import']='--arch --change --message --os --variant -c -m'
    ['pod info']='--format -f'
    ['pod inspect']='--format --type -f -t'
    ['pod kill']='--signal -s'
    ['pod load']='--input -i'
    ['pod login']='--authfile --cert-dir --password --username -p -u'
    ['pod logout']='--authfile'
    ['pod logs']='--since --tail --until'
    ['pod network connect']='--alias --ip'
    ['pod network create']='--driver --gateway --label --subnet -d'
    ['pod network inspect']='--format -f'
    ['pod network ls']='--filter --format -f'
    ['pod network prune']='--filter'
    ['pod network rm']='--time -t'
    ['pod ps']='--filter --format --last --sort -f -n'
    ['pod pull']='--arch --authfile --cert-dir --creds --os --platform --policy --variant'
    ['pod push']='--authfile --cert-dir --creds --digestfile --format -f'
    ['pod restart']='--time -t'
    ['pod rm']='--time -t'
    ['pod run']='--add-host --cap-add --cap-drop --cidfile --cpu-shares --cpus --cpuset-cpus --device --device-cgroup-rule --dns --dns-option --dns-search --entrypoint --env --env-file --expose --hostname --init-path --ip --label --log-driver --memory --memory-swap --mount --name --net --network --network-alias --oom-score-adj --pids-limit --publish --pull --restart --runtime --security-opt --shm-size --stop-signal --stop-timeout --tmpfs --ulimit --user --userns --volume --workdir -c -e -h -l -m -p -u -v -w'
    ['pod save']='--format --output -o'
    ['pod stats']='--format --interval -i'
    ['pod stop']='--time -t'
    ['pod system df']='--format'
    ['pod system info']='--format -f'
    ['pod version']='--format -f'
    ['pod volume create']='--label -l'
    ['pod volume inspect']='--format -f'
    ['pod volume ls']='--filter --format -f'
    ['pod wait']='--condition --interval -i'
)
declare -gA _pod_args=(
    ['pod build']='-'
    ['pod commit']='container image'
    ['pod completion']='-'
    ['pod container commit']='container image'
    ['pod container cp']='container container'
    ['pod container create']='image -*'
    ['pod container diff']='container'
    ['pod container exists']='container'
    ['pod container export']='container'
    ['pod container inspect']='container*'
    ['pod container kill']='container*'
    ['pod container logs']='container*'
    ['pod container mount']='container*'
    ['pod container pause']='container*'
    ['pod container port']='container -'
    ['pod container rename']='container -'
    ['pod container restart']='container*'
    ['pod container rm']='container*'
    ['pod container run']='image -*'
    ['pod container start']='container*'
    ['pod container stats']='container*'
    ['pod container stop']='container*'
    ['pod container top']='container -*'
    ['pod container umount']='container*'
    ['pod container unpause']='container*'
    ['pod container wait']='container*'
    ['pod cp']='container container'
    ['pod create']='image -*'
    ['pod diff']='container'
    ['pod exec']='container*'
    ['pod export']='container'
    ['pod history']='image'
    ['pod image build']='-'
    ['pod image exists']='image'
    ['pod image history']='image'
    ['pod image import']='- image'
    ['pod image inspect']='image*'
    ['pod image list']='image'
    ['pod image ls']='image'
    ['pod image mount']='image*'
    ['pod image pull']='image*'
    ['pod image push']='image image'
    ['pod image rm']='image*'
    ['pod image save']='image*'
    ['pod image tag']='image -*'
    ['pod image unmount']='image*'
    ['pod image untag']='image -*'
    ['pod images']='image'
    ['pod import']='- image'
    ['pod inspect']='any*'
    ['pod kill']='container*'
    ['pod login']='-'
    ['pod logout']='-'
    ['pod logs']='container*'
    ['pod mount']='container*'
    ['pod network connect']='- container'
    ['pod network create']='-'
    ['pod network disconnect']='- container'
    ['pod network exists']='-'
    ['pod network inspect']='-*'
    ['pod network rm']='-*'
    ['pod pause']='container*'
    ['pod port']='container -'
    ['pod pull']='image*'
    ['pod push']='image image'
    ['pod rename']='container -'
    ['pod restart']='container*'
    ['pod rm']='container*'
    ['pod rmi']='image*'
    ['pod run']='image -*'
    ['pod save']='image*'
    ['pod start']='container*'
    ['pod stats']='container*'
    ['pod stop']='container*'
    ['pod tag']='image -*'
    ['pod top']='container -*'
    ['pod umount']='container*'
    ['pod unpause']='container*'
    ['pod unshare']='-*'
    ['pod untag']='image -*'
    ['pod volume create']='volume'
    ['pod volume exists']='volume'
    ['pod volume inspect']='volume*'
    ['pod volume rm']='volume*'
    ['pod wait']='container*'
)
declare -gA _pod_help=(
    ['pod build']='Build an image from a Containerfile'
    ['pod commit']='Create an image from a container'\''s changes'
    ['pod completion']='Generate shell autocompletions'
    ['pod container']='Manage containers'
    ['pod container commit']='Create an image from a container'\''s changes'
    ['pod container cp']='Copy files/folders between a container and the local filesystem'
    ['pod container create']='Create a container without starting it'
    ['pod container diff']='Inspect changes to a container'\''s file systems (A added, C changed, D deleted)'
    ['pod container exists']='Check if a container exists (exit 0) or not (exit 1)'
    ['pod container export']='Export a container'\''s file system as a tar archive'
    ['pod container inspect']='Show details of containers in podman'\''s JSON shape'
    ['pod container kill']='Kill one or more running containers with a signal'
    ['pod container list']='List containers'
    ['pod container logs']='Fetch the logs of one or more containers'
    ['pod container ls']='List containers'
    ['pod container mount']='Mount a container'\''s root file system and print where (rootless: in `pod unshare`)'
    ['pod container pause']='Pause all the processes in one or more containers'
    ['pod container port']='List port mappings or a specific mapping for the container'
    ['pod container prune']='Remove all non running containers'
    ['pod container ps']='List containers'
    ['pod container rename']='Rename an existing container'
    ['pod container restart']='Restart one or more containers'
    ['pod container rm']='Remove containers (exit 1: no such container; 2: running without -f)'
    ['pod container run']='Run a command in a new container'
    ['pod container start']='Start created or stopped containers'
    ['pod container stats']='Display a live stream of container resource usage statistics'
    ['pod container stop']='Stop one or more containers'
    ['pod container top']='Display the running processes of a container'
    ['pod container umount']='Unmount a container'\''s root file system (when its last `pod mount` is undone)'
    ['pod container unpause']='Unpause the processes in one or more containers'
    ['pod container wait']='Block until one or more containers stop; print their exit codes'
    ['pod cp']='Copy files/folders between a container and the local filesystem'
    ['pod create']='Create a container without starting it; prints its ID'
    ['pod diff']='Inspect changes to a container'\''s file systems (A added, C changed, D deleted)'
    ['pod exec']='Run a process in a running container'
    ['pod export']='Export a container'\''s file system as a tar archive'
    ['pod history']='Show the history of an image'
    ['pod image']='Manage images'
    ['pod image build']='Build an image from a Containerfile'
    ['pod image exists']='Exit 0 if the image is in local storage, 1 if not'
    ['pod image history']='Show the history of an image'
    ['pod image import']='Import a tarball as a file system image'
    ['pod image inspect']='Show details of images in podman'\''s JSON shape'
    ['pod image list']='List images in local storage'
    ['pod image load']='Load images from a docker-archive or oci-archive (plain or compressed)'
    ['pod image ls']='List images in local storage'
    ['pod image mount']='Mount an image'\''s file system read-only and print where (rootless: in `pod unshare`)'
    ['pod image prune']='Remove dangling images (and, with -a, all unused ones)'
    ['pod image pull']='Pull images from a registry'
    ['pod image push']='Push an image to a registry'
    ['pod image rm']='Remove images from local storage'
    ['pod image save']='Save images to an archive or a directory'
    ['pod image tag']='Add names to a local image'
    ['pod image unmount']='Unmount an image'\''s file system (when its last `image mount` is undone)'
    ['pod image untag']='Remove names from a local image (the image stays)'
    ['pod images']='List images in local storage'
    ['pod import']='Import a tarball as a file system image'
    ['pod info']='Show the host, the store and whether rootless containers will work here (with fixes)'
    ['pod inspect']='Show details of containers, images or volumes (found in that order)'
    ['pod kill']='Kill one or more running containers with a signal'
    ['pod load']='Load images from a docker-archive or oci-archive (plain or compressed)'
    ['pod login']='Log in to a registry: the credentials are verified before they are stored'
    ['pod logout']='Remove stored credentials for a registry'
    ['pod logs']='Fetch the logs of one or more containers'
    ['pod mount']='Mount a container'\''s root file system and print where (rootless: in `pod unshare`)'
    ['pod network']='Manage networks'
    ['pod network connect']='Add a container to a network (a running one gets the interface at once)'
    ['pod network create']='Create a bridge network; prints its name'
    ['pod network disconnect']='Take a container off a network'
    ['pod network exists']='Exit 0 if the network exists, 1 if not'
    ['pod network inspect']='Show details of networks (podman'\''s JSON)'
    ['pod network ls']='List networks'
    ['pod network prune']='Remove every network no container uses (never the default one)'
    ['pod network rm']='Remove networks (exit 2 when one is in use, 1 when one does not exist)'
    ['pod pause']='Pause all the processes in one or more containers'
    ['pod port']='List port mappings or a specific mapping for the container'
    ['pod ps']='List containers'
    ['pod pull']='Pull images from a registry'
    ['pod push']='Push an image to a registry'
    ['pod rename']='Rename an existing container'
    ['pod restart']='Restart one or more containers'
    ['pod rm']='Remove containers (exit 1: no such container; 2: running without -f)'
    ['pod rmi']='Remove images from local storage'
    ['pod run']='Run a command in a new container'
    ['pod save']='Save images to an archive or a directory'
    ['pod start']='Start created or stopped containers'
    ['pod stats']='Display a live stream of container resource usage statistics'
    ['pod stop']='Stop one or more containers'
    ['pod system']='Manage pod itself'
    ['pod system df']='Show pod'\''s disk usage'
    ['pod system info']='Show the host, the store and whether rootless containers will work here (with fixes)'
    ['pod system prune']='Remove stopped containers, dangling (or unused) images and, with --volumes, volumes'
    ['pod system reset']='Remove every container, image and volume, and the store and run root themselves'
    ['pod tag']='Add names to a local image'
    ['pod top']='Display the running processes of a container'
    ['pod umount']='Unmount a container'\''s root file system (when its last `pod mount` is undone)'
    ['pod unpause']='Unpause the processes in one or more containers'
    ['pod unshare']='Run a command in a modified user namespace (rootless only)'
    ['pod untag']='Remove names from a local image (the image stays)'
    ['pod version']='Show pod'\''s version (podman'\''s layout: Python stands where podman shows Go)'
    ['pod volume']='Manage named volumes'
    ['pod volume create']='Create a volume'
    ['pod volume exists']='Exit 0 if the volume exists, 1 if not'
    ['pod volume inspect']='Show details of volumes'
    ['pod volume ls']='List volumes'
    ['pod volume prune']='Remove all volumes no container uses'
    ['pod volume rm']='Remove volumes (exit 2 when one is in use)'
    ['pod wait']='Block until one or more containers stop; print their exit codes'
)

_pod_names() {
    # Names of one kind from the store the command line points at (--root/--runroot passed on).
    local kind=$1; shift
    case $kind in
        container) pod "$@" ps -a --format '{{.Names}}' 2>/dev/null ;;
        image) pod "$@" images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null \
                   | grep -v '^<none>:<none>$' ;;
        volume) pod "$@" volume ls -q 2>/dev/null ;;
        any) _pod_names container "$@"; _pod_names image "$@"; _pod_names volume "$@" ;;
    esac
}

_pod_describe() {
    local key=$1 word help i longest=0
    ((${#COMPREPLY[@]} > 1)) || return 0
    for word in "${COMPREPLY[@]}"; do
        ((${#word} > longest)) && longest=${#word}
    done
    local room=$((${COLUMNS:-80} - longest - 4))
    ((room > 8)) || return 0
    for i in "${!COMPREPLY[@]}"; do
        word=${COMPREPLY[i]}
        help=${_pod_help[$key $word]}
        [[ -n $help ]] || continue
        ((${#help} > room)) && help="${help:0:room-1}…"
        printf -v 'COMPREPLY[i]' '%-*s  (%s)' "$longest" "$word" "$help"
    done
}
_pod() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local key=pod word i positional=0
    local -a store=()
    COMPREPLY=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $word == -* ]]; then
            if [[ $word != *=* && " ${_pod_value_options[$key]} " == *" $word "* ]]; then
                if [[ $key == pod && ($word == --root || $word == --runroot) ]]; then
                    store+=("$word" "${COMP_WORDS[i+1]}")
                fi
                ((i++))
            fi
        elif ((positional == 0)) && [[ " ${_pod_subcommands[$key]} " == *" $word "* ]]; then
            key="$key $word"
        else
            ((positional++))
        fi
    done
    local prev=${COMP_WORDS[COMP_CWORD-1]}
    if ((COMP_CWORD > 1)) && [[ $prev == -* && $prev != *=* \
            && " ${_pod_value_options[$key]} " == *" $prev "* ]]; then
        if [[ $prev == --root || $prev == --runroot || $prev == --authfile || $prev == --file \
                || $prev == --cidfile || $prev == --env-file || $prev == --cert-dir ]]; then
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return 0
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "${_pod_flags[$key]} ${_pod_value_options[$key]}" -- "$cur"))
        return 0
    fi
    if [[ -n ${_pod_subcommands[$key]} ]] && ((positional == 0)); then
        COMPREPLY=($(compgen -W "${_pod_subcommands[$key]}" -- "$cur"))
        _pod_describe "$key"
        return 0
    fi
    local -a kinds
    read -ra kinds <<< "${_pod_args[$key]}"
    local kind=-
    if ((positional < ${#kinds[@]})); then
        kind=${kinds[positional]}
    elif ((${#kinds[@]} > 0)) && [[ ${kinds[-1]} == *\* ]]; then
        kind=${kinds[-1]}
    fi
    kind=${kind%\*}
    if [[ $kind != - ]]; then
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(_pod_names "$kind" "${store[@]}")" -- "$cur"))
    fi
    return 0
}

complete -F _pod pod
